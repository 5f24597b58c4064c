"""The D-Bus objects a BLE peripheral registers with BlueZ: GATT service, characteristic, and
LE advertisement (org.bluez GattService1 / GattCharacteristic1 / LEAdvertisement1, as documented in
BlueZ doc/org.bluez.GattCharacteristic.rst and org.bluez.LEAdvertisement.rst). D-Bus member names
and signatures are fixed by BlueZ, hence the naming-rule exceptions; dbus-fast reads the D-Bus
type signatures from the string annotations (so no `from __future__ import annotations` here)."""

from collections.abc import Callable

from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method


class Service(ServiceInterface):
    def __init__(self, uuid: str):
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # noqa: F821, N802
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":  # noqa: F821, N802
        return True


class Characteristic(ServiceInterface):
    def __init__(self, uuid: str, flags: list[str], service: str, on_write: Callable[[str, bytes], None]):
        super().__init__("org.bluez.GattCharacteristic1")
        self.uuid = uuid
        self._flags = flags
        self._service = service
        self._on_write = on_write
        self.value = b""
        self.notifying = False

    def notify(self, value: bytes) -> None:
        self.value = value
        self.emit_properties_changed({"Value": value})

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # noqa: F821, N802
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":  # noqa: F821, N802
        return self._service

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":  # noqa: F821, F722, N802
        return self._flags

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":  # noqa: F821, N802
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":  # noqa: F821, N802
        return self.notifying

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":  # noqa: F821, F722, N802
        return self.value

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}"):  # noqa: F821, F722, N802
        self._on_write(self.uuid, bytes(value))

    @method()
    def StartNotify(self):  # noqa: N802
        self.notifying = True

    @method()
    def StopNotify(self):  # noqa: N802
        self.notifying = False

    @method()
    def Confirm(self):  # noqa: N802
        pass


class Advertisement(ServiceInterface):
    def __init__(self, name: str, uuids: list[str]):
        super().__init__("org.bluez.LEAdvertisement1")
        self._name = name
        self._uuids = uuids

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":  # noqa: F821, N802
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> "s":  # noqa: F821, N802
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":  # noqa: F821, F722, N802
        return self._uuids

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":  # noqa: F821, N802
        return True

    @method()
    def Release(self):  # noqa: N802
        pass
