"""A scripted Asterisk: builds the AMI events a real PBX emits, for tests.

The shapes follow Asterisk 12+ as recorded in ``tests/fixtures/asterisk`` and
the AMI event documentation: every channel event carries the channel snapshot
(``Channel``, ``ChannelState``, ``CallerIDNum`` … ``Uniqueid``, ``Linkedid``);
dial events carry a second snapshot prefixed ``Dest``.  Real installations put
``PJSIP/…`` channels at the leaves and ``Local/…`` channels as hops between, so
the scripts here do that, unlike the lab recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from missedcall.sources.ami.protocol import Message

STATES = {"Down": 0, "Ring": 4, "Ringing": 5, "Up": 6, "Busy": 7}


@dataclass
class Chan:
    name: str
    uniqueid: str
    linkedid: str
    caller_num: str = "<unknown>"
    caller_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    context: str = "from-internal"
    exten: str = "s"
    state: str = "Down"

    def snapshot(self, prefix: str = "") -> list[tuple[str, str]]:
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(STATES[self.state])),
            (prefix + "ChannelStateDesc", self.state),
            (prefix + "CallerIDNum", self.caller_num),
            (prefix + "CallerIDName", self.caller_name),
            (prefix + "ConnectedLineNum", self.connected_num),
            (prefix + "ConnectedLineName", "<unknown>"),
            (prefix + "Language", "en"),
            (prefix + "AccountCode", ""),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", "1"),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]


@dataclass
class Pbx:
    """Emits events in order; ``wait`` moves the clock."""

    now: float = 1_800_000_000.0
    messages: list[Message] = field(default_factory=list)
    timestamps: bool = True
    _uniqueid_seq: int = 0
    _channel_seq: int = 0
    _epoch: int = 1_800_000_000

    def wait(self, seconds: float) -> None:
        self.now += seconds

    def emit(self, event: str, *parts: list[tuple[str, str]], **extra: str) -> Message:
        pairs: list[tuple[str, str]] = [("Event", event), ("Privilege", "call,all")]
        if self.timestamps:
            pairs.append(("Timestamp", f"{self.now:.6f}"))
        for part in parts:
            pairs.extend(part)
        pairs.extend(extra.items())
        message = Message.from_pairs(pairs)
        self.messages.append(message)
        return message

    # -- channels ----------------------------------------------------------

    def _next_uniqueid(self) -> str:
        uniqueid = f"{self._epoch}.{self._uniqueid_seq}"
        self._uniqueid_seq += 1
        return uniqueid

    def _next_suffix(self) -> str:
        self._channel_seq += 1
        return f"{self._channel_seq:08x}"

    def channel(
        self,
        device: str,
        *,
        call: Chan | None = None,
        caller: str = "<unknown>",
        name: str = "<unknown>",
        exten: str = "s",
        context: str = "from-internal",
    ) -> Chan:
        """A new channel ``device-<seq>``; in ``call``'s call, else starting one."""
        uniqueid = self._next_uniqueid()
        chan = Chan(
            f"{device}-{self._next_suffix()}",
            uniqueid,
            call.linkedid if call else uniqueid,
            caller_num=caller,
            caller_name=name,
            context=context,
            exten=exten,
            state="Ring" if call is None else "Down",
        )
        self.emit("Newchannel", chan.snapshot())
        return chan

    def local(self, target: str, *, call: Chan) -> tuple[Chan, Chan]:
        """A ``Local/target`` pair: ``;1`` is dialled, ``;2`` runs the dialplan."""
        suffix = self._next_suffix()
        exten, _, context = target.partition("@")
        one = Chan(f"Local/{target}-{suffix};1", self._next_uniqueid(), call.linkedid)
        two = Chan(f"Local/{target}-{suffix};2", self._next_uniqueid(), call.linkedid)
        two.state = "Ring"
        for chan in (one, two):
            chan.context, chan.exten = context, exten
            self.emit("Newchannel", chan.snapshot())
        two.caller_num, two.caller_name = call.caller_num, call.caller_name
        self.emit(
            "NewCallerid",
            two.snapshot(),
            **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )
        self.emit("LocalBridge", [("LocalOneChannel", one.name), ("LocalTwoChannel", two.name)])
        return one, two

    def callerid(self, chan: Chan, number: str, name: str = "", presentation: int = 0) -> None:
        chan.caller_num, chan.caller_name = number, name or number
        label = "Presentation Allowed" if presentation < 32 else "Presentation Prohibited"
        self.emit(
            "NewCallerid", chan.snapshot(), **{"CID-CallingPres": f"{presentation} ({label})"}
        )

    def state(self, chan: Chan, state: str) -> None:
        chan.state = state
        self.emit("Newstate", chan.snapshot())

    def goto(self, chan: Chan, exten: str, application: str = "Dial", data: str = "") -> None:
        chan.exten = exten
        self.emit(
            "Newexten", chan.snapshot(), Extension=exten, Application=application, AppData=data
        )

    # -- dialling ----------------------------------------------------------

    def dial(self, source: Chan, device: str, *, dialstring: str | None = None) -> Chan:
        """``source`` dials ``device`` (``PJSIP/201``): a new channel and a DialBegin."""
        dest = self.channel(device, call=source, exten=source.exten, context=source.context)
        resource = device.partition("/")[2]
        self.emit(
            "DialBegin", source.snapshot(), dest.snapshot("Dest"), DialString=dialstring or resource
        )
        return dest

    def dial_local(self, source: Chan, target: str) -> tuple[Chan, Chan]:
        one, two = self.local(target, call=source)
        self.emit("DialBegin", source.snapshot(), one.snapshot("Dest"), DialString=target)
        return one, two

    def ringing(self, source: Chan | None, dest: Chan) -> None:
        self.state(dest, "Ringing")
        if source is not None:
            self.emit("DialState", source.snapshot(), dest.snapshot("Dest"), DialStatus="RINGING")

    def answer(self, source: Chan | None, dest: Chan) -> None:
        self.state(dest, "Up")
        if source is not None:
            self.emit("DialEnd", source.snapshot(), dest.snapshot("Dest"), DialStatus="ANSWER")

    def dial_end(self, source: Chan, dest: Chan, status: str, **extra: str) -> None:
        self.emit("DialEnd", source.snapshot(), dest.snapshot("Dest"), DialStatus=status, **extra)

    def hangup(self, *chans: Chan, cause: str = "16") -> None:
        for chan in chans:
            self.emit("Hangup", chan.snapshot(), Cause=cause, **{"Cause-txt": "Normal Clearing"})

    # -- features ----------------------------------------------------------

    def pickup(self, picker: Chan, target: Chan) -> None:
        self.emit("Pickup", picker.snapshot(), target.snapshot("Target"))

    def blind_transfer(self, transferer: Chan, transferee: Chan, exten: str) -> None:
        self.emit(
            "BlindTransfer",
            [("Result", "Success")],
            transferer.snapshot("Transferer"),
            transferee.snapshot("Transferee"),
            IsExternal="No",
            Context="from-internal",
            Extension=exten,
        )

    def attended_transfer(self, original: Chan, second: Chan, target: Chan | None = None) -> None:
        parts = [
            [("Result", "Success")],
            original.snapshot("OrigTransferer"),
            second.snapshot("SecondTransferer"),
        ]
        if target is not None:
            parts.append(target.snapshot("TransferTarget"))
        self.emit("AttendedTransfer", *parts, DestType="Bridge")

    def move(self, chan: Chan, linkedid: str) -> None:
        """Asterisk re-links a channel bridged into an older call; the next event shows it."""
        chan.linkedid = linkedid
        self.emit("BridgeEnter", [("BridgeUniqueid", "b-1")], chan.snapshot())

    def inbound(self, did: str, caller: str, name: str = "") -> Chan:
        """A call from the trunk to ``did``."""
        chan = self.channel(
            "PJSIP/trunk", caller=caller, name=name or caller, exten=did, context="from-pstn"
        )
        return chan
