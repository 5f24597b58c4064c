"""The host's Bluetooth stack as bleak sees it: adapter selection and one-line errors for a
missing D-Bus, BlueZ, adapter or radio (the CLI turns ImurunError into exit code 2)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from imurun.errors import ImurunError


class BluetoothUnavailable(ImurunError):
    """No system bus, no BlueZ, no adapter, or the adapter is off."""


def bleak_kwargs(adapter: str | None) -> dict[str, Any]:
    """Keyword arguments selecting a BlueZ adapter (e.g. "hci0") for BleakScanner/BleakClient."""
    return {"bluez": {"adapter": adapter}} if adapter else {}


@contextlib.contextmanager
def bluetooth_errors() -> Iterator[None]:
    """Translate the ways the Bluetooth stack can be missing into one clear line."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError

    try:
        yield
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise BluetoothUnavailable(
            f"no D-Bus system bus ({exc.strerror or exc}): is BlueZ installed and running?"
        ) from None
    except BleakBluetoothNotAvailableError as exc:
        raise BluetoothUnavailable(f"Bluetooth not available: {exc.args[0] if exc.args else exc}") from None
    except BleakDBusError as exc:
        if exc.dbus_error in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            raise BluetoothUnavailable("BlueZ (org.bluez) is not running on the system bus") from None
        if exc.dbus_error == "org.freedesktop.DBus.Error.UnknownObject":
            raise BluetoothUnavailable("no such Bluetooth adapter") from None
        if exc.dbus_error == "org.bluez.Error.NotReady":
            raise BluetoothUnavailable("Bluetooth is off (adapter not powered)") from None
        raise
