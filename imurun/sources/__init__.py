"""Sources: everything that produces SampleBlocks for the engine (BLE, CSV replay, the simulator)."""
