"""The real-time gait engine: numba kernels over explicit state, driven by core.engine.Engine."""
