<?xml version="1.0" encoding="UTF-8"?>
<!--
  The subject line: "Missed call from Jane Doe (+49 89 1234567)".
  Text output; line breaks and runs of spaces become single spaces.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:include href="common.xsl"/>
  <xsl:output method="text" encoding="UTF-8"/>

  <xsl:template match="/notification">
    <xsl:call-template name="fill">
      <xsl:with-param name="text" select="strings/subject"/>
      <xsl:with-param name="name" select="'caller'"/>
      <xsl:with-param name="value"><xsl:call-template name="caller-text"/></xsl:with-param>
    </xsl:call-template>
  </xsl:template>
</xsl:stylesheet>
