"""The live run app (`imurun run`): the BLE source, the recorder stage and one Pipeline into the
console, the coach, the calibration guide and the dashboard; the report at the end."""
