"""Session files: the CSV recording format (format, reader, writer), truth files and `imurun info`.

Spec: docs/session-format.md.
"""
