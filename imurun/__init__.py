"""imurun: real-time running-form coach from a pelvis-mounted IMU."""

__version__ = "0.1.0"
