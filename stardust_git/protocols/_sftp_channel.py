"""A leaner send path for an SFTP session's channel data, on paramiko's own connection state.

paramiko sends channel data through ``Channel.send``, a ``Message``,
``Transport._send_user_message`` and ``Packetizer.send_message``: every 32 KiB SSH packet is
copied about six times, and SFTP's ``_write_all`` copies what is left of a 255 KiB request after
each packet. With AES-GCM that costs the client more CPU than the encryption itself and held
uploads to about 250 MiB/s on loopback, slower than OpenSSH. :class:`FastSendChannel` does the
same steps (the channel's send window, waiting out a key exchange, the packetizer's write lock,
sequence number, nonce and rekey accounting) with one plaintext copy, one encryption and one
``sendmsg`` per packet (about 330 MiB/s; benchmarks/bench_protocols.py).

It reads paramiko's private packetizer state, so it is used only on the paramiko versions the
tests cover (:data:`TESTED_PARAMIKO`, major.minor), unless switched off with
``STARDUST_SFTP_LEAN_SEND=0``; it sends a packet itself only while that state is as expected: an
AEAD cipher (AES-GCM), no compression, every attribute present, otherwise it hands the packet to
paramiko unchanged. After the first SSH or socket error on a connection, the SFTP transport
uses paramiko's own path on its next connections (a fault of this path must not repeat).
tests/test_protocol_sftp.py checks that the lean path is the one taken with the paramiko we pin,
that a file survives key re-exchanges in the middle of its upload, and each way of turning it off.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

import paramiko
from paramiko.common import cMSG_CHANNEL_DATA

TESTED_PARAMIKO = ((5, 1),)
"""The paramiko versions (major, minor) whose private state the lean path was tested against."""
LEAN_SWITCH = "STARDUST_SFTP_LEAN_SEND"
"""Set to 0 (or off, false, no) to send every packet through paramiko's own path."""
_OFF = ("0", "off", "false", "no")
_MSG_CHANNEL_DATA = cMSG_CHANNEL_DATA[0]
_PRIVATE = "_Packetizer__"
_PACKETIZER_STATE = (
    "aead_out",
    "block_engine_out",
    "block_size_out",
    "compress_engine_out",
    "iv_out",
    "keepalive_last",
    "need_rekey",
    "received_bytes_overflow",
    "received_packets_overflow",
    "sent_bytes",
    "sent_packets",
    "sequence_number_out",
    "socket",
    "write_lock",
)


def lean_path_allowed() -> bool:
    """Whether the lean path may be used: not switched off, and a paramiko the tests cover."""
    if os.environ.get(LEAN_SWITCH, "").strip().lower() in _OFF:
        return False
    version = paramiko.__version__.split(".")[:2]
    major_minor = tuple(int(part) for part in version if part.isdigit())
    return major_minor in TESTED_PARAMIKO


def lean_path_available(channel: paramiko.Channel) -> bool:
    """Whether this paramiko keeps the state :class:`FastSendChannel` needs where it expects it."""
    packetizer = channel.get_transport().packetizer
    return (
        all(hasattr(packetizer, _PRIVATE + name) for name in _PACKETIZER_STATE)
        and hasattr(packetizer, "_inc_iv_counter")
        and hasattr(packetizer, "_trigger_rekey")
        and hasattr(channel, "_wait_for_send_window")
    )


class FastSendChannel:
    """Stands in for an SFTP session's channel: ``send`` takes the lean path, the rest is the
    channel's own."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self._channel = channel
        self._transport = channel.get_transport()
        self._state = _State(self._transport.packetizer)  # the transport keeps one packetizer
        self.packets_sent_lean = 0
        """Packets this path encrypted and sent itself (the tests check it is not zero)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    def send(self, data: bytes | memoryview) -> int:
        """Send all of ``data`` (blocking on the peer's window), or less once the channel closes."""
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            size = self._reserve_window(len(view) - sent)
            if size == 0:
                break
            self._send_data_packet(view[sent : sent + size])
            sent += size
        return sent

    def _reserve_window(self, wanted: int) -> int:
        channel = self._channel
        with channel.lock:
            if channel.closed:
                raise OSError("Socket is closed")
            return channel._wait_for_send_window(wanted)

    def _send_data_packet(self, piece: memoryview) -> None:
        transport = self._transport
        self._hold_clear_to_send()
        try:
            if _can_encrypt(self._state):
                self._encrypt_and_send(piece)
                self.packets_sent_lean += 1
            else:
                message = paramiko.Message()
                message.add_byte(cMSG_CHANNEL_DATA)
                message.add_int(self._channel.remote_chanid)
                message.add_string(bytes(piece))
                transport._send_message(message)
        finally:
            transport.clear_to_send_lock.release()

    def _hold_clear_to_send(self) -> None:
        """Acquire the transport's clear-to-send lock once no key exchange is under way."""
        transport = self._transport
        started = time.monotonic()
        while True:
            transport.clear_to_send.wait(0.1)
            if not transport.active:
                raise EOFError("the SSH connection closed")
            transport.clear_to_send_lock.acquire()
            if transport.clear_to_send.is_set():
                return
            transport.clear_to_send_lock.release()
            if time.monotonic() > started + transport.clear_to_send_timeout:
                raise paramiko.SSHException("the key exchange timed out")

    def _encrypt_and_send(self, piece: memoryview) -> None:
        state = self._state
        packetizer = state.packetizer
        payload_size = 9 + len(piece)  # message number, channel, length, data
        block_size = state["block_size_out"]
        # RFC 5647: at least 4 bytes of padding; the length field is not encrypted, so not counted.
        padding = 3 + block_size - ((payload_size + 4) % block_size)
        length = struct.pack(">I", 1 + payload_size + padding)
        header = struct.pack(
            ">BBII", padding, _MSG_CHANNEL_DATA, self._channel.remote_chanid, len(piece)
        )
        plaintext = b"".join((header, piece, os.urandom(padding)))
        with state["write_lock"]:
            nonce = state["iv_out"]
            ciphertext = state["block_engine_out"].encrypt(nonce, plaintext, length)
            state["iv_out"] = packetizer._inc_iv_counter(nonce)
            state["sequence_number_out"] = (state["sequence_number_out"] + 1) & 0xFFFFFFFF
            _send_all(packetizer, state["socket"], length, ciphertext)
            state["keepalive_last"] = time.time()
            _count_and_maybe_rekey(state, len(length) + len(ciphertext))


class _State:
    """Reads and writes a Packetizer's private (name-mangled) attributes by their plain names."""

    def __init__(self, packetizer: paramiko.Packetizer) -> None:
        self.packetizer = packetizer

    def __getitem__(self, name: str) -> Any:
        return getattr(self.packetizer, _PRIVATE + name)

    def __setitem__(self, name: str, value: object) -> None:
        setattr(self.packetizer, _PRIVATE + name, value)


def _can_encrypt(state: _State) -> bool:
    return (
        state["aead_out"]
        and state["block_engine_out"] is not None
        and state["compress_engine_out"] is None
    )


def _send_all(packetizer: paramiko.Packetizer, sock: socket.socket, *parts: bytes) -> None:
    """Send ``parts`` whole; paramiko's socket has a short timeout, so wait until it drains."""
    views = [memoryview(part) for part in parts]
    while views:
        try:
            sent = sock.sendmsg(views)
        except TimeoutError:
            if packetizer.closed:
                raise EOFError("the SSH connection closed") from None
            continue
        while views and sent >= len(views[0]):
            sent -= len(views.pop(0))
        if views:
            views[0] = views[0][sent:]


def _count_and_maybe_rekey(state: _State, size: int) -> None:
    """paramiko's accounting after a packet: past its limits it asks for a key re-exchange."""
    packetizer = state.packetizer
    state["sent_bytes"] += size
    state["sent_packets"] += 1
    past_limit = (
        state["sent_packets"] >= packetizer.REKEY_PACKETS
        or state["sent_bytes"] >= packetizer.REKEY_BYTES
    )
    if past_limit and not state["need_rekey"]:
        state["received_bytes_overflow"] = 0
        state["received_packets_overflow"] = 0
        packetizer._trigger_rekey()
