"""Live BLE ingestion: scan, connect, decode firmware-profile packets, map them onto the session
clock, record and feed the engine; plus a virtual sensor that serves a session over BlueZ."""
