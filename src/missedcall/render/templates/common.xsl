<?xml version="1.0" encoding="UTF-8"?>
<!--
  Named templates shared by subject.xsl, text.xsl and html.xsl.
  Copy this file to your templates folder to change them for all three at once.
  The document they read is described in docs/template-input.md.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <!-- $text with the placeholder {$name} replaced by $value (the first one). -->
  <xsl:template name="fill">
    <xsl:param name="text"/>
    <xsl:param name="name"/>
    <xsl:param name="value"/>
    <xsl:variable name="mark" select="concat('{', $name, '}')"/>
    <xsl:choose>
      <xsl:when test="contains($text, $mark)">
        <xsl:value-of select="substring-before($text, $mark)"/>
        <xsl:copy-of select="$value"/>
        <xsl:value-of select="substring-after($text, $mark)"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "Jane Doe (+49 89 1234567)", "Jane Doe", "+49 89 1234567", "Hidden number"… -->
  <xsl:template name="caller-text">
    <xsl:variable name="caller" select="/notification/caller"/>
    <xsl:variable name="strings" select="/notification/strings"/>
    <xsl:choose>
      <xsl:when test="$caller/label and $caller/display">
        <xsl:value-of select="concat($caller/label, ' (', $caller/display, ')')"/>
      </xsl:when>
      <xsl:when test="$caller/label and $caller/line">
        <xsl:value-of select="concat($caller/label, ' (', $caller/line, ')')"/>
      </xsl:when>
      <xsl:when test="$caller/label"><xsl:value-of select="$caller/label"/></xsl:when>
      <xsl:when test="$caller/display"><xsl:value-of select="$caller/display"/></xsl:when>
      <xsl:when test="$caller/hidden = 'true'"><xsl:value-of select="$strings/hidden-number"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$strings/unknown-caller"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- A party (a line and its owner) as "Anna Alpha (201)", or "201" without an owner. -->
  <xsl:template name="party-text">
    <xsl:param name="party"/>
    <xsl:choose>
      <xsl:when test="$party/owner"><xsl:value-of select="concat($party/owner, ' (', $party/line, ')')"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$party/line"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The sentence saying who took the call instead, if anyone did. -->
  <xsl:template name="outcome-text">
    <xsl:variable name="n" select="/notification"/>
    <xsl:choose>
      <xsl:when test="$n/pickup">
        <xsl:variable name="by"><xsl:call-template name="party-text"><xsl:with-param name="party" select="$n/pickup/by"/></xsl:call-template></xsl:variable>
        <xsl:variable name="from"><xsl:call-template name="party-text"><xsl:with-param name="party" select="$n/pickup/from"/></xsl:call-template></xsl:variable>
        <xsl:variable name="half">
          <xsl:call-template name="fill">
            <xsl:with-param name="text" select="$n/strings/picked-up"/>
            <xsl:with-param name="name" select="'by'"/>
            <xsl:with-param name="value" select="$by"/>
          </xsl:call-template>
        </xsl:variable>
        <xsl:call-template name="fill">
          <xsl:with-param name="text" select="$half"/>
          <xsl:with-param name="name" select="'from'"/>
          <xsl:with-param name="value" select="$from"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$n/answered-by">
        <xsl:call-template name="fill">
          <xsl:with-param name="text" select="$n/strings/answered-elsewhere"/>
          <xsl:with-param name="name" select="'name'"/>
          <xsl:with-param name="value"><xsl:call-template name="party-text"><xsl:with-param name="party" select="$n/answered-by"/></xsl:call-template></xsl:with-param>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$n/call/voicemail = 'true'"><xsl:value-of select="$n/strings/voicemail"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$n/strings/nobody-answered"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The localized label of a contact phone's kind (work, mobile, home, fax). -->
  <xsl:template name="phone-kind">
    <xsl:param name="kind"/>
    <xsl:variable name="s" select="/notification/strings"/>
    <xsl:choose>
      <xsl:when test="$kind = 'mobile'"><xsl:value-of select="$s/phone-mobile"/></xsl:when>
      <xsl:when test="$kind = 'home'"><xsl:value-of select="$s/phone-home"/></xsl:when>
      <xsl:when test="$kind = 'fax'"><xsl:value-of select="$s/phone-fax"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$s/phone-work"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The localized kind of call: external, internal, outgoing. -->
  <xsl:template name="direction-text">
    <xsl:variable name="s" select="/notification/strings"/>
    <xsl:choose>
      <xsl:when test="/notification/call/direction = 'internal'"><xsl:value-of select="$s/direction-internal"/></xsl:when>
      <xsl:when test="/notification/call/direction = 'outbound'"><xsl:value-of select="$s/direction-outbound"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$s/direction-inbound"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The localized kind of a redirection: forwarded or transferred. -->
  <xsl:template name="forward-kind">
    <xsl:param name="kind"/>
    <xsl:choose>
      <xsl:when test="$kind = 'transfer'"><xsl:value-of select="/notification/strings/forward-kind-transfer"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="/notification/strings/forward-kind-forward"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
