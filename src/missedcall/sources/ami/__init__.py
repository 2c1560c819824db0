"""Asterisk Manager Interface: sans-IO framing (`protocol`) and an asyncio client (`client`)."""
