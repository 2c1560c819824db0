"""Correlates Asterisk Manager events into one record per call (SPEC §4).

Theory of operation
-------------------
Feed AMI events in (:meth:`AsteriskCorrelator.feed`); finished calls come out
as :class:`~missedcall.calls.record.CallRecord`.  No I/O and no clock: every
moment is the event's ``Timestamp`` (or the time the source read it).

*Calls.*  Asterisk gives every channel of a call the same ``Linkedid``: the
``Uniqueid`` of the channel that started it.  A call lives while it has live
channels; its record is emitted at the ``Hangup`` of the last one, and its
state is dropped then.  A channel may change ``Linkedid`` when it is bridged
into an older call (a pickup, an attended transfer): every event carries the
channel's current ``Linkedid``, and the channel moves to that call from then on.

*Devices.*  A device is a *dial destination* (``DestChannel`` of a
``DialBegin`` that has a ``Channel``; app_queue reports its member calls the
same way).  A ``Local/…;1`` destination whose ``;2`` half dials onward is a
*hop* of a group, queue or forward, not a device: only the leaf of a dial chain
rings.  Dials without a calling ``Channel`` come from an AMI ``Originate`` and
are not a phone being rung for this call.  A device's line comes from
``[asterisk.devices]`` first, then from its resource name (``PJSIP/201-…`` and
``Local/201@phones-…;1`` are line ``201``); a device that is not a line (a
trunk leg to a mobile nobody mapped) is not a participant.

*Legs.*  A channel's stay in one call is a leg: its ringing intervals
(``Newstate Ringing`` or ``DialState RINGING`` until answer, ``DialEnd``,
pickup or ``Hangup``), its answer (``Newstate Up`` or ``DialEnd ANSWER``) and
whether it was busy (``DialEnd BUSY`` without ringing).  When a channel moves
to another call its leg there starts afresh, so each call keeps only what rang
for it.  Participants are computed from the legs when the call ends: one per
line, however many devices or ring cycles.

*Answers, pickups, voicemail.*  Only a leaf device going ``Up`` is a line
answering; the PBX answering the caller's channel (a queue, an IVR,
``VoiceMail``) is not.  A ``Local`` leaf whose ``;2`` half runs ``VoiceMail``
is voicemail, not a person.  A ``Pickup`` event names the picking channel and
the ringing leg it took; the picker's own call (a ``Linkedid`` of its own) is
folded into the picked call and not reported.

*Forwards and transfers.*  Asterisk reports forwarding only as dialplan at
work, so it is read from what rings: while a call is unanswered and directed
at a line (the dialled number, then each forward target), another line
ringing is a forward from it; a channel executing a line's extension that
dials another line is a forward too.  Once a line has answered, another line
ringing is a transfer from the answering line; ``BlindTransfer``,
``AttendedTransfer`` and a ``DialEnd`` with ``Forward`` say so explicitly.

*Gaps.*  After the source loses the PBX (:class:`ConnectionLost`) every call in
flight is marked incomplete; the resync that follows (:class:`Resync`) lists
the channels still alive, and calls none of whose channels survived end there
with what was seen.  A call that never ends expires after ``max_call_age``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from missedcall.calls.assemble import assemble
from missedcall.calls.channels import (
    Call,
    Channel,
    device_base,
    known,
    presentation_code,
    resource_of,
)
from missedcall.calls.lines import LineMap, ResourceNames
from missedcall.calls.record import CallRecord, Pickup
from missedcall.sources.ami.protocol import EventFilter, Message
from missedcall.sources.markers import ConnectionLost, Received, Resync

WANTED_EVENTS: Final = EventFilter(
    wanted=frozenset(
        {
            "Newchannel",
            "NewCallerid",
            "DialBegin",
            "DialEnd",
            "Hangup",
            "Pickup",
            "BlindTransfer",
            "AttendedTransfer",
            "Rename",
            "BridgeEnter",
            "BridgeLeave",
        }
    ),
    # Some events matter only with certain contents; deciding that on the raw
    # bytes keeps the bulk of a stream (dialplan steps above all) out of Python.
    # A loose test (``VoiceMailMain`` passes too): the handlers read the value.
    conditional={
        "Newexten": (b"Application: VoiceMail",),
        "Newstate": (b"ChannelStateDesc: Ringing", b"ChannelStateDesc: Up"),
        "DialState": (b"DialStatus: RINGING",),
    },
)

DEFAULT_MAX_CALL_AGE: Final = 4 * 3600.0
_EXPIRY_CHECK_INTERVAL: Final = 60.0
_RECENTLY_ENDED: Final = 4096
_PRESENTATION_HIDDEN: Final = 0x60  # ast_callerid: 0x20 prohibited, 0x40 number unavailable


class AsteriskCorrelator:
    """Sans-IO correlator of AMI events.  See the module docstring."""

    def __init__(
        self, lines: LineMap | None = None, *, max_call_age: float = DEFAULT_MAX_CALL_AGE
    ) -> None:
        self._lines: LineMap = lines if lines is not None else ResourceNames()
        self._max_call_age = max_call_age
        self._calls: dict[str, Call] = {}
        self._channels: dict[str, Channel] = {}  # by Uniqueid
        self._by_name: dict[str, Channel] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._now = 0.0
        self._next_expiry_check = 0.0
        self._done: list[CallRecord] = []
        self._handlers: dict[str, Callable[[Message], object]] = {
            "Newchannel": self._on_newchannel,
            "NewCallerid": self._on_newcallerid,
            "Newstate": self._on_newstate,
            "DialBegin": self._on_dialbegin,
            "DialState": self._on_dialstate,
            "DialEnd": self._on_dialend,
            "Hangup": self._on_hangup,
            "Pickup": self._on_pickup,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "Newexten": self._on_newexten,
            "Rename": self._on_rename,
            # A bridge is where Asterisk re-links a channel into an older call.
            "BridgeEnter": self._channel,
            "BridgeLeave": self._channel,
        }

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    @property
    def channels_in_flight(self) -> int:
        return len(self._channels)

    # -- input -------------------------------------------------------------

    def feed(self, item: Message | Received | ConnectionLost | Resync) -> list[CallRecord]:
        """Take one event or source marker; return the calls it finished."""
        if isinstance(item, Message):
            self._on_message(item, None)
        elif isinstance(item, Received):
            self._on_message(item.message, item.received_at)
        elif isinstance(item, ConnectionLost):
            self._on_connection_lost(item)
        else:
            self._on_resync(item)
        if not self._done:
            return []
        done, self._done = self._done, []
        return done

    def flush(self) -> list[CallRecord]:
        """End of input: report every call still in flight, as incomplete."""
        for call in list(self._calls.values()):
            call.incomplete = True
            self._end_call(call, call.last_at)
        self._channels.clear()
        self._by_name.clear()
        done, self._done = self._done, []
        return done

    def _on_message(self, message: Message, received_at: float | None) -> None:
        handler = self._handlers.get(message.event or "")
        if handler is None:
            return
        stamp = message.get("Timestamp")
        if stamp:
            try:  # noqa: SIM105  # try is free in the hot path, suppress() is not
                self._now = float(stamp)
            except ValueError:
                pass  # a garbled timestamp: keep the last good one
        elif received_at is not None:
            self._now = received_at
        handler(message)
        if self._now >= self._next_expiry_check:
            self._expire_old_calls()

    # -- channels and calls ------------------------------------------------

    def _channel(self, message: Message, prefix: str = "") -> Channel | None:
        """The channel an event is about, moved to the call its Linkedid names."""
        uniqueid = message.get(prefix + "Uniqueid")
        linkedid = message.get(prefix + "Linkedid") or uniqueid
        if not uniqueid or not linkedid:
            return None
        channel = self._channels.get(uniqueid)
        if channel is None:
            if linkedid in self._ended:
                return None
            name = message.get(prefix + "Channel") or uniqueid
            call = self._call(linkedid, partial=True)
            channel = self._add_channel(uniqueid, name, call)
        elif channel.call.call_id != linkedid and linkedid not in self._ended:
            self._move(channel, self._call(linkedid, partial=True))
        channel.call.last_at = self._now
        return channel

    def _call(self, linkedid: str, *, partial: bool) -> Call:
        call = self._calls.get(linkedid)
        if call is None:
            call = Call(linkedid, self._now, self._now, incomplete=partial)
            self._calls[linkedid] = call
        return call

    def _add_channel(self, uniqueid: str, name: str, call: Call) -> Channel:
        channel = Channel(uniqueid, name, call)
        self._channels[uniqueid] = channel
        self._by_name[name] = channel
        call.live.add(uniqueid)
        return channel

    def _move(self, channel: Channel, call: Call) -> None:
        """A channel bridged into another call: its ringing goes on there."""
        old = channel.call
        old.live.discard(channel.uniqueid)
        leg = channel.leg
        was_ringing = leg is not None and leg.ring_since is not None
        if leg is not None:
            leg.stop_ringing(self._now)
        channel.leg = None
        channel.call = call
        call.live.add(channel.uniqueid)
        if was_ringing:
            self._ring(channel)
        if not old.live:
            self._end_call(old, self._now)

    def _line_of(self, channel: Channel) -> str | None:
        if not channel.line_known:  # DialBegin, which names the dial string, resets it
            channel.line = self._device_line(channel)
            channel.line_known = True
        return channel.line

    def _device_line(self, channel: Channel) -> str | None:
        lines = self._lines
        line = lines.device_line(channel.base)
        if line is None and channel.dial_key is not None:
            line = lines.device_line(channel.dial_key)
        if line is None:
            resource = resource_of(channel.name)
            line = resource if lines.is_line(resource) else None
        return line

    def _party_line(self, name: str | None, caller_number: str | None) -> str | None:
        """The line of a phone that acts (picks up, transfers): by its device, else
        by the number it presents (a feature-code channel such as ``**201``)."""
        channel = self._by_name.get(name or "")
        if channel is not None:
            line = self._device_line(channel)
            if line is not None:
                return line
        elif name:
            line = self._lines.device_line(device_base(name))
            resource = resource_of(name)
            if line is None and self._lines.is_line(resource):
                line = resource
            if line is not None:
                return line
        number = known(caller_number)
        if not number:
            return None
        line = self._lines.line_of_number(number)
        if line is None and self._lines.is_internal_number(number) and self._lines.is_line(number):
            line = number
        return line

    # -- ringing and answering --------------------------------------------

    def _ring(self, channel: Channel) -> None:
        if not channel.is_device():
            return
        line = self._line_of(channel)
        if line is None or not channel.current_leg().start_ringing(self._now):
            return
        call = channel.call
        if call.connected_line is not None:
            call.add_forward(call.connected_line, line, "transfer")
            return
        self._resolve_dialed_line(call)
        aimed_at = call.aimed_at
        if aimed_at is not None and aimed_at != line and not self._is_ringing(call, aimed_at):
            # The line the call was for is not ringing (never did, or gave up),
            # and another line rings instead: that is a forward, not a group.
            call.add_forward(aimed_at, line, "forward")
            call.aimed_at = line

    def _is_ringing(self, call: Call, line: str) -> bool:
        return any(
            leg.ring_since is not None and self._line_of(leg.channel) == line
            for leg in call.legs
            if leg.channel.is_device()
        )

    def _stop_ringing(self, channel: Channel) -> None:
        if channel.leg is not None:
            channel.leg.stop_ringing(self._now)

    def _answer(self, channel: Channel) -> None:
        if not channel.is_device() or channel.ran_voicemail:
            return
        line = self._line_of(channel)
        if line is None:
            return
        leg = channel.current_leg()
        leg.stop_ringing(self._now)
        if leg.answered_at is None:
            leg.answered_at = self._now
            channel.call.connected_line = line
            channel.call.caller_settled = True

    def _resolve_dialed_line(self, call: Call) -> None:
        if not call.dialed_line_resolved:
            call.dialed_line_resolved = True
            if call.dialed:
                call.aimed_at = self._lines.line_of_number(call.dialed)

    # -- event handlers ----------------------------------------------------

    def _on_newchannel(self, message: Message) -> None:
        uniqueid = message.get("Uniqueid")
        linkedid = message.get("Linkedid") or uniqueid
        if not uniqueid or not linkedid or linkedid in self._ended:
            return
        if uniqueid in self._channels:
            self._channel(message)
            return
        call = self._call(linkedid, partial=uniqueid != linkedid)
        channel = self._add_channel(uniqueid, message.get("Channel") or uniqueid, call)
        channel.caller_number = known(message.get("CallerIDNum"))
        if uniqueid == linkedid:
            call.dialed = known(message.get("Exten"))
            self._update_caller(call, channel.caller_number, message.get("CallerIDName"))

    def _on_newcallerid(self, message: Message) -> None:
        channel = self._channel(message)
        if channel is None:
            return
        call = channel.call
        number = known(message.get("CallerIDNum"))
        channel.caller_number = number
        if call.caller_settled:
            return
        if channel.uniqueid == call.call_id:
            self._update_caller(call, number, message.get("CallerIDName"))
        code = presentation_code(message.get("CID-CallingPres"))
        if code & _PRESENTATION_HIDDEN and number == call.caller_number:
            call.restricted = True

    def _update_caller(self, call: Call, number: str, name: str | None) -> None:
        if number:
            call.caller_number = number
        name = known(name)
        if name:
            call.caller_name = name

    def _on_newstate(self, message: Message) -> None:
        state = message.get("ChannelStateDesc") or message.get("ChannelState")
        if state in ("Ringing", "5"):
            channel = self._channel(message)
            if channel is not None:
                self._ring(channel)
        elif state in ("Up", "6"):
            channel = self._channel(message)
            if channel is not None:
                self._answer(channel)

    def _on_dialbegin(self, message: Message) -> None:
        if message.get("Channel") is None:
            return  # an Originate: not a phone rung for a call
        source = self._channel(message)
        destination = self._channel(message, "Dest")
        if source is None or destination is None:
            return
        destination.is_destination = True
        destination.line_known = False
        tech = destination.name.partition("/")[0]
        dial_string = message.get("DialString")
        if dial_string:
            destination.dial_key = f"{tech}/{dial_string}"
        if source.local_half == 2:
            partner = self._by_name.get(source.partner_name())
            if partner is not None:
                partner.hop = True
        call = source.call
        exten = known(message.get("Exten"))
        if not call.dialed or call.dialed == "s":
            call.dialed = exten
        if not call.caller_number:
            self._update_caller(call, source.caller_number, message.get("CallerIDName"))
        self._forward_by_extension(call, exten, destination)

    def _forward_by_extension(self, call: Call, exten: str, destination: Channel) -> None:
        """A channel running one line's extension that dials another line forwards."""
        if call.connected_line is not None or not exten:
            return
        from_line = self._lines.line_of_number(exten)
        to_line = self._device_line(destination) if from_line is not None else None
        if from_line is not None and to_line is not None and from_line != to_line:
            call.add_forward(from_line, to_line, "forward")
            if call.aimed_at in (None, from_line):
                call.aimed_at = to_line
                call.dialed_line_resolved = True

    def _on_dialstate(self, message: Message) -> None:
        if message.get("DialStatus") == "RINGING" and message.get("Channel") is not None:
            destination = self._channel(message, "Dest")
            if destination is not None:
                self._ring(destination)

    def _on_dialend(self, message: Message) -> None:
        if message.get("Channel") is None:
            return
        destination = self._channel(message, "Dest")
        if destination is None:
            return
        status = message.get("DialStatus")
        if status == "ANSWER":
            # Connected: from now on Local channels swap caller and connected line.
            destination.call.caller_settled = True
            self._answer(destination)
            return
        self._stop_ringing(destination)
        if status == "BUSY" and destination.is_device():
            destination.current_leg().busy = True
        target = message.get("Forward")
        if target:
            self._forward_by_redirect(destination, target)

    def _forward_by_redirect(self, destination: Channel, target: str) -> None:
        """A device answered the dial with a redirect (SIP 302) to ``target``."""
        from_line = self._line_of(destination)
        to_line = self._lines.device_line(device_base(target))
        if to_line is None:
            resource = resource_of(target)
            to_line = self._lines.line_of_number(resource) or (
                resource if self._lines.is_line(resource) else None
            )
        if from_line is not None and to_line is not None:
            destination.call.add_forward(from_line, to_line, "forward")

    def _on_hangup(self, message: Message) -> None:
        channel = self._channels.get(message.get("Uniqueid") or "")
        if channel is None:
            return
        self._channel(message)  # follow a last-moment move to another call
        self._stop_ringing(channel)
        self._forget(channel)
        call = channel.call
        call.live.discard(channel.uniqueid)
        if not call.live:
            self._end_call(call, self._now)

    def _forget(self, channel: Channel) -> None:
        self._channels.pop(channel.uniqueid, None)
        if self._by_name.get(channel.name) is channel:
            del self._by_name[channel.name]

    def _on_pickup(self, message: Message) -> None:
        picker = self._channel(message)
        target = self._channel(message, "Target")
        if target is None:
            return
        call = target.call
        from_line = self._line_of(target) if target.is_device() else None
        by_line = self._party_line(message.get("Channel"), message.get("CallerIDNum"))
        self._stop_ringing(target)
        call.caller_settled = True
        if from_line is not None and by_line is not None and call.pickup is None:
            call.pickup = Pickup(by_line, from_line, self._now)
            call.connected_line = by_line
        if picker is not None and picker.call is not call:
            picker.call.absorbed = True

    def _on_blind_transfer(self, message: Message) -> None:
        if message.get("Result") != "Success":
            return
        transferee = self._channel(message, "Transferee")
        call = transferee.call if transferee is not None else None
        from_line = self._party_line(
            message.get("TransfererChannel"), message.get("TransfererCallerIDNum")
        )
        to_line = self._lines.line_of_number(known(message.get("Extension")))
        if call is not None and from_line is not None and to_line is not None:
            call.add_forward(from_line, to_line, "transfer")

    def _on_attended_transfer(self, message: Message) -> None:
        if message.get("Result") != "Success":
            return
        call = self._calls.get(message.get("OrigTransfererLinkedid") or "")
        from_line = self._party_line(
            message.get("OrigTransfererChannel"), message.get("OrigTransfererCallerIDNum")
        )
        to_line = self._transfer_target_line(message)
        if call is not None and from_line is not None and to_line is not None:
            call.add_forward(from_line, to_line, "transfer")

    def _transfer_target_line(self, message: Message) -> str | None:
        target = message.get("TransferTargetChannel")
        if target:
            line = self._party_line(target, message.get("TransferTargetCallerIDNum"))
            if line is not None:
                return line
        consult = self._calls.get(message.get("SecondTransfererLinkedid") or "")
        if consult is None:
            return None
        rung = [self._line_of(leg.channel) for leg in consult.legs if leg.channel.is_device()]
        return next((line for line in rung if line is not None), None)

    def _on_newexten(self, message: Message) -> None:
        if message.get("Application") != "VoiceMail":
            return
        channel = self._channel(message)
        if channel is None:
            return
        channel.call.voicemail = True
        if channel.local_half == 2:
            partner = self._by_name.get(channel.partner_name())
            if partner is not None:
                partner.ran_voicemail = True

    def _on_rename(self, message: Message) -> None:
        channel = self._channels.get(message.get("Uniqueid") or "")
        new_name = message.get("Newname")
        if channel is None or not new_name:
            return
        if self._by_name.get(channel.name) is channel:
            del self._by_name[channel.name]
        channel.name = new_name
        channel.line_known = False
        self._by_name[new_name] = channel

    # -- gaps and expiry ---------------------------------------------------

    def _on_connection_lost(self, lost: ConnectionLost) -> None:
        self._now = max(self._now, lost.at)
        for call in self._calls.values():
            call.incomplete = True

    def _on_resync(self, resync: Resync) -> None:
        self._now = max(self._now, resync.at)
        alive = {m.get("Uniqueid") for m in resync.channels}
        for channel in list(self._channels.values()):
            if channel.uniqueid not in alive:
                self._vanish(channel)
        for message in resync.channels:
            uniqueid = message.get("Uniqueid")
            if uniqueid and uniqueid not in self._channels:
                seen = self._channel(message)
                if seen is not None:
                    seen.call.incomplete = True

    def _vanish(self, channel: Channel) -> None:
        """A channel gone while we were not looking: keep what was seen, guess nothing."""
        call = channel.call
        if channel.leg is not None and channel.leg.ring_since is not None:
            channel.leg.stop_ringing(call.last_at)
        self._forget(channel)
        call.live.discard(channel.uniqueid)
        call.incomplete = True
        if not call.live:
            self._end_call(call, call.last_at)

    def _expire_old_calls(self) -> None:
        self._next_expiry_check = self._now + _EXPIRY_CHECK_INTERVAL
        for call in list(self._calls.values()):
            if self._now - call.started_at <= self._max_call_age:
                break
            call.incomplete = True
            for uniqueid in list(call.live):
                channel = self._channels.get(uniqueid)
                if channel is not None:
                    self._stop_ringing(channel)
                    self._forget(channel)
            call.live.clear()
            self._end_call(call, call.last_at)

    # -- the record --------------------------------------------------------

    def _end_call(self, call: Call, ended_at: float) -> None:
        if self._calls.pop(call.call_id, None) is None:
            return
        self._ended[call.call_id] = None
        if len(self._ended) > _RECENTLY_ENDED:
            self._ended.popitem(last=False)
        for leg in call.legs:
            leg.stop_ringing(ended_at)
        if not call.absorbed:
            self._done.append(assemble(call, ended_at, self._lines, self._line_of))
