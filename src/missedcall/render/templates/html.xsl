<?xml version="1.0" encoding="UTF-8"?>
<!--
  The HTML part.  Mail programs (Outlook, Gmail, phones) ignore style sheets and
  much of CSS, so the layout is tables and every style is inline; styles are
  written out in full (not from variables) because that renders fastest.
  Values from the document are escaped by the XSLT processor: write them with
  xsl:value-of or {…} in attributes, never with disable-output-escaping.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:include href="common.xsl"/>
  <xsl:output method="html" encoding="UTF-8" indent="no"/>

  <xsl:variable name="s" select="/notification/strings"/>

  <xsl:template match="/notification">
    <xsl:text disable-output-escaping="yes">&lt;!DOCTYPE html&gt;&#10;</xsl:text>
    <html lang="{language/code}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$s/missed-call"/></title>
      </head>
      <body style="margin:0;padding:0;background:#f3f4f6;">
        <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f3f4f6;">
          <tr>
            <td align="center" style="padding:24px 8px;">
              <table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;background:#ffffff;border:1px solid #e5e7eb;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#111827;">
                <tr>
                  <td style="padding:18px 24px;background:#b91c1c;color:#ffffff;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:20px;font-weight:bold;">
                    <xsl:value-of select="$s/missed-call"/>
                  </td>
                </tr>
                <xsl:call-template name="summary"/>
                <xsl:apply-templates select="caller/link"/>
                <xsl:apply-templates select="call"/>
                <xsl:apply-templates select="contact"/>
                <xsl:apply-templates select="participants[participant]"/>
                <xsl:apply-templates select="forwards[forward]"/>
                <xsl:apply-templates select="mail"/>
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="summary">
    <tr>
      <td style="padding:20px 24px 8px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;">
        <p style="margin:0 0 8px;font-size:17px;">
          <xsl:call-template name="fill">
            <xsl:with-param name="text" select="$s/intro"/>
            <xsl:with-param name="name" select="'caller'"/>
            <xsl:with-param name="value"><strong><xsl:call-template name="caller-text"/></strong></xsl:with-param>
          </xsl:call-template>
        </p>
        <p style="margin:0;color:#374151;"><xsl:call-template name="outcome-text"/></p>
        <xsl:if test="call/incomplete = 'true'">
          <p style="margin:8px 0 0;color:#92400e;font-size:14px;"><xsl:value-of select="$s/incomplete"/></p>
        </xsl:if>
      </td>
    </tr>
  </xsl:template>

  <xsl:template match="caller/link">
    <tr>
      <td style="padding:12px 24px 4px;">
        <table role="presentation" cellpadding="0" cellspacing="0" border="0">
          <tr>
            <td style="background:#15803d;border-radius:4px;">
              <a href="{.}" style="display:inline-block;padding:10px 20px;color:#ffffff;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;font-weight:bold;text-decoration:none;">
                <xsl:value-of select="concat($s/call-back, ' ', ../display)"/>
              </a>
            </td>
          </tr>
        </table>
      </td>
    </tr>
  </xsl:template>

  <!-- A section: its heading, then a table of rows. -->
  <xsl:template name="heading">
    <xsl:param name="title"/>
    <tr><td style="padding:16px 24px 4px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;font-weight:bold;text-transform:uppercase;color:#6b7280;"><xsl:value-of select="$title"/></td></tr>
  </xsl:template>

  <xsl:template match="call">
    <xsl:call-template name="heading"><xsl:with-param name="title" select="$s/call"/></xsl:call-template>
    <tr><td style="padding:0 24px 8px;"><table role="presentation" width="100%" cellpadding="4" cellspacing="0" border="0" style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;">
      <xsl:if test="../caller/label">
        <tr><td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/caller"/></td><td><xsl:value-of select="../caller/label"/></td></tr>
      </xsl:if>
      <tr>
        <td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/number"/></td>
        <td>
          <xsl:choose>
            <xsl:when test="../caller/hidden = 'true' and not(../caller/line)"><xsl:value-of select="$s/hidden-number"/></xsl:when>
            <xsl:when test="../caller/link"><a href="{../caller/link}" style="color:#1d4ed8;"><xsl:value-of select="../caller/display"/></a></xsl:when>
            <xsl:when test="../caller/display"><xsl:value-of select="../caller/display"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="../caller/line"/></xsl:otherwise>
          </xsl:choose>
        </td>
      </tr>
      <tr><td style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/time"/></td><td><xsl:value-of select="started/text"/></td></tr>
      <tr><td style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/rang"/></td><td><xsl:value-of select="ring-duration"/></td></tr>
      <xsl:if test="dialed-display">
        <tr><td style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/dialed"/></td><td><xsl:value-of select="dialed-display"/></td></tr>
      </xsl:if>
      <tr><td style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/direction"/></td><td><xsl:call-template name="direction-text"/></td></tr>
      <tr><td style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/your-line"/></td><td><xsl:value-of select="../recipient/line"/></td></tr>
    </table></td></tr>
  </xsl:template>

  <xsl:template match="contact">
    <xsl:call-template name="heading"><xsl:with-param name="title" select="$s/contact"/></xsl:call-template>
    <tr><td style="padding:0 24px 8px;"><table role="presentation" width="100%" cellpadding="4" cellspacing="0" border="0" style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;">
      <tr>
        <td colspan="2">
          <strong><xsl:value-of select="name"/></strong>
          <xsl:for-each select="title | department | company"><br/><xsl:value-of select="."/></xsl:for-each>
        </td>
      </tr>
      <xsl:for-each select="phones/phone">
        <tr>
          <td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:call-template name="phone-kind"><xsl:with-param name="kind" select="kind"/></xsl:call-template></td>
          <td>
            <xsl:choose>
              <xsl:when test="link"><a href="{link}" style="color:#1d4ed8;"><xsl:value-of select="display"/></a></xsl:when>
              <xsl:otherwise><xsl:value-of select="display"/></xsl:otherwise>
            </xsl:choose>
          </td>
        </tr>
      </xsl:for-each>
      <xsl:if test="email">
        <tr><td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/email"/></td><td><a href="mailto:{email}" style="color:#1d4ed8;"><xsl:value-of select="email"/></a></td></tr>
      </xsl:if>
      <xsl:if test="address">
        <tr>
          <td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/address"/></td>
          <td>
            <xsl:value-of select="address/street"/>
            <xsl:if test="address/street and (address/postal-code or address/city)"><br/></xsl:if>
            <xsl:value-of select="normalize-space(concat(address/postal-code, ' ', address/city))"/>
            <xsl:if test="address/country"><br/><xsl:value-of select="address/country"/></xsl:if>
          </td>
        </tr>
      </xsl:if>
      <xsl:if test="note">
        <tr><td width="35%" style="color:#6b7280;vertical-align:top;"><xsl:value-of select="$s/note"/></td><td style="white-space:pre-line;"><xsl:value-of select="note"/></td></tr>
      </xsl:if>
    </table></td></tr>
  </xsl:template>

  <xsl:template match="participants">
    <xsl:call-template name="heading"><xsl:with-param name="title" select="$s/participants"/></xsl:call-template>
    <tr><td style="padding:0 24px 8px;"><table role="presentation" width="100%" cellpadding="4" cellspacing="0" border="0" style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;">
      <xsl:for-each select="participant">
        <tr>
          <td>
            <xsl:call-template name="party-text"><xsl:with-param name="party" select="."/></xsl:call-template>
            <xsl:if test="is-recipient = 'true'"><span style="color:#6b7280;"> (<xsl:value-of select="$s/you"/>)</span></xsl:if>
          </td>
          <td align="right" style="white-space:nowrap;"><xsl:value-of select="ring-duration"/></td>
          <td align="right" style="white-space:nowrap;">
            <xsl:choose>
              <xsl:when test="answered = 'true'"><span style="color:#15803d;font-weight:bold;"><xsl:value-of select="$s/answered"/></span></xsl:when>
              <xsl:otherwise><span style="color:#b91c1c;"><xsl:value-of select="$s/not-answered"/></span></xsl:otherwise>
            </xsl:choose>
          </td>
        </tr>
      </xsl:for-each>
    </table></td></tr>
  </xsl:template>

  <xsl:template match="forwards">
    <xsl:call-template name="heading"><xsl:with-param name="title" select="$s/forwards"/></xsl:call-template>
    <tr><td style="padding:0 24px 8px;"><table role="presentation" width="100%" cellpadding="4" cellspacing="0" border="0" style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;">
      <xsl:for-each select="forward">
        <tr>
          <td>
            <xsl:call-template name="party-text"><xsl:with-param name="party" select="from"/></xsl:call-template>
            <xsl:text> &#8594; </xsl:text>
            <xsl:call-template name="party-text"><xsl:with-param name="party" select="to"/></xsl:call-template>
            <span style="color:#6b7280;"> (<xsl:call-template name="forward-kind"><xsl:with-param name="kind" select="kind"/></xsl:call-template>)</span>
          </td>
        </tr>
      </xsl:for-each>
    </table></td></tr>
  </xsl:template>

  <xsl:template match="mail">
    <tr>
      <td style="padding:16px 24px 20px;border-top:1px solid #e5e7eb;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:12px;line-height:1.5;color:#6b7280;">
        <xsl:if test="vcard-attached = 'true'"><xsl:value-of select="$s/vcard-attached"/><br/></xsl:if>
        <xsl:choose>
          <xsl:when test="replies-reach-caller = 'true'"><xsl:value-of select="$s/reply-reaches-caller"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="$s/automatic"/></xsl:otherwise>
        </xsl:choose>
      </td>
    </tr>
  </xsl:template>
</xsl:stylesheet>
