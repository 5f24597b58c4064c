"""BLE as a source: scan, connect, decode firmware-profile packets and map them onto the session
clock as SampleBlocks (source.py); the firmware profiles; a virtual sensor that serves a session
over BlueZ. The live run app that records and coaches is imurun.live."""
