<?xml version="1.0" encoding="UTF-8"?>
<!--
  The plain-text part, for mail programs and watches that show no HTML.
  Text output: a line break is $nl; each "Label: value" line is written only
  when the document has the value.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:include href="common.xsl"/>
  <xsl:output method="text" encoding="UTF-8"/>

  <xsl:variable name="nl" select="'&#10;'"/>
  <xsl:variable name="s" select="/notification/strings"/>

  <xsl:template match="/notification">
    <xsl:value-of select="concat($s/missed-call, $nl, $nl)"/>
    <xsl:call-template name="fill">
      <xsl:with-param name="text" select="$s/intro"/>
      <xsl:with-param name="name" select="'caller'"/>
      <xsl:with-param name="value"><xsl:call-template name="caller-text"/></xsl:with-param>
    </xsl:call-template>
    <xsl:value-of select="$nl"/>
    <xsl:call-template name="outcome-text"/>
    <xsl:value-of select="$nl"/>
    <xsl:if test="call/incomplete = 'true'"><xsl:value-of select="concat($s/incomplete, $nl)"/></xsl:if>
    <xsl:value-of select="$nl"/>
    <xsl:apply-templates select="caller"/>
    <xsl:apply-templates select="call"/>
    <xsl:apply-templates select="contact"/>
    <xsl:apply-templates select="participants[participant]"/>
    <xsl:apply-templates select="forwards[forward]"/>
    <xsl:apply-templates select="mail"/>
  </xsl:template>

  <xsl:template match="caller">
    <xsl:if test="label"><xsl:value-of select="concat($s/caller, ': ', label, $nl)"/></xsl:if>
    <xsl:value-of select="concat($s/number, ': ')"/>
    <xsl:choose>
      <xsl:when test="hidden = 'true' and not(line)"><xsl:value-of select="$s/hidden-number"/></xsl:when>
      <xsl:when test="display"><xsl:value-of select="display"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="line"/></xsl:otherwise>
    </xsl:choose>
    <xsl:value-of select="$nl"/>
    <xsl:if test="link"><xsl:value-of select="concat($s/call-back, ': ', link, $nl)"/></xsl:if>
  </xsl:template>

  <xsl:template match="call">
    <xsl:value-of select="concat($s/time, ': ', started/text, $nl)"/>
    <xsl:value-of select="concat($s/rang, ': ', ring-duration, $nl)"/>
    <xsl:if test="dialed-display"><xsl:value-of select="concat($s/dialed, ': ', dialed-display, $nl)"/></xsl:if>
    <xsl:value-of select="concat($s/direction, ': ')"/>
    <xsl:call-template name="direction-text"/>
    <xsl:value-of select="concat($nl, $s/your-line, ': ', /notification/recipient/line, $nl)"/>
  </xsl:template>

  <xsl:template match="contact">
    <xsl:value-of select="concat($nl, $s/contact, $nl)"/>
    <xsl:for-each select="name | company | title | department">
      <xsl:value-of select="concat('  ', ., $nl)"/>
    </xsl:for-each>
    <xsl:for-each select="phones/phone">
      <xsl:text>  </xsl:text>
      <xsl:call-template name="phone-kind"><xsl:with-param name="kind" select="kind"/></xsl:call-template>
      <xsl:value-of select="concat(': ', display, $nl)"/>
    </xsl:for-each>
    <xsl:if test="email"><xsl:value-of select="concat('  ', $s/email, ': ', email, $nl)"/></xsl:if>
    <xsl:if test="address">
      <xsl:value-of select="concat('  ', $s/address, ': ')"/>
      <xsl:for-each select="address/*">
        <xsl:if test="position() > 1"><xsl:text>, </xsl:text></xsl:if>
        <xsl:value-of select="."/>
      </xsl:for-each>
      <xsl:value-of select="$nl"/>
    </xsl:if>
    <xsl:if test="note"><xsl:value-of select="concat('  ', $s/note, ': ', note, $nl)"/></xsl:if>
  </xsl:template>

  <xsl:template match="participants">
    <xsl:value-of select="concat($nl, $s/participants, $nl)"/>
    <xsl:for-each select="participant">
      <xsl:text>  - </xsl:text>
      <xsl:call-template name="party-text"><xsl:with-param name="party" select="."/></xsl:call-template>
      <xsl:if test="is-recipient = 'true'"><xsl:value-of select="concat(' [', $s/you, ']')"/></xsl:if>
      <xsl:value-of select="concat(': ', ring-duration, ', ')"/>
      <xsl:choose>
        <xsl:when test="answered = 'true'"><xsl:value-of select="$s/answered"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$s/not-answered"/></xsl:otherwise>
      </xsl:choose>
      <xsl:value-of select="$nl"/>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="forwards">
    <xsl:value-of select="concat($nl, $s/forwards, $nl)"/>
    <xsl:for-each select="forward">
      <xsl:text>  - </xsl:text>
      <xsl:call-template name="party-text"><xsl:with-param name="party" select="from"/></xsl:call-template>
      <xsl:text> -> </xsl:text>
      <xsl:call-template name="party-text"><xsl:with-param name="party" select="to"/></xsl:call-template>
      <xsl:text> (</xsl:text>
      <xsl:call-template name="forward-kind"><xsl:with-param name="kind" select="kind"/></xsl:call-template>
      <xsl:value-of select="concat(')', $nl)"/>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="mail">
    <xsl:value-of select="concat($nl, '-- ', $nl)"/>
    <xsl:if test="vcard-attached = 'true'"><xsl:value-of select="concat($s/vcard-attached, $nl)"/></xsl:if>
    <xsl:choose>
      <xsl:when test="replies-reach-caller = 'true'"><xsl:value-of select="concat($s/reply-reaches-caller, $nl)"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="concat($s/automatic, $nl)"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
