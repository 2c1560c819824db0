"""PBX adapters: each turns a phone system's event stream into events the correlator understands."""
