"""``missedcall client``: the user's own sender, for sites without a server-side mail relay
(SPEC §9, ``notify.dispatch = "client"``).

It logs on to the server as the user (which counts as a logon for the rules),
fetches the user's prepared mails, sends each with this machine's own means --
an SMTP account, a local ``sendmail``, or ``.eml`` files into a folder -- and
confirms each once it is sent.  What is not confirmed stays queued on the
server for the next run.
"""
