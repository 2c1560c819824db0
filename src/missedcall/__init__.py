"""missedcall: e-mails people the calls they missed, once per call."""

__version__ = "0.1.0"
