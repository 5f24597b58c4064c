"""Replay controls: pause/resume, speed (1x, 2x, 5x, max) and jump to a time. Space toggles pause."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from imurun.ui.player import SPEEDS, Player


def speed_name(speed: float) -> str:
    return "max" if math.isinf(speed) else f"{speed:g}x"


class ReplayControls(QWidget):
    def __init__(self, player: Player, duration_s: float | None):
        super().__init__()
        self.player = player
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)

        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.toggle_pause)

        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(speed_name(speed), speed)
        if player.speed in SPEEDS:
            self.speed_box.setCurrentIndex(SPEEDS.index(player.speed))
        else:
            self.speed_box.addItem(speed_name(player.speed), player.speed)
            self.speed_box.setCurrentIndex(len(SPEEDS))
        self.speed_box.currentIndexChanged.connect(lambda i: player.set_speed(self.speed_box.itemData(i)))

        self.jump_box = QDoubleSpinBox()
        self.jump_box.setRange(0.0, duration_s if duration_s is not None else 86400.0)
        self.jump_box.setDecimals(1)
        self.jump_box.setSuffix(" s")
        self.jump_button = QPushButton("Jump")
        self.jump_button.clicked.connect(lambda: player.seek(self.jump_box.value()))

        layout.addWidget(self.pause_button)
        layout.addWidget(QLabel("Speed"))
        layout.addWidget(self.speed_box)
        layout.addSpacing(16)
        layout.addWidget(QLabel("Jump to"))
        layout.addWidget(self.jump_box)
        layout.addWidget(self.jump_button)
        layout.addStretch(1)
        if duration_s is not None:
            layout.addWidget(QLabel(f"recording length {int(duration_s) // 60}:{int(duration_s) % 60:02d}"))

    def toggle_pause(self) -> None:
        if self.player.paused:
            self.player.resume()
            self.pause_button.setText("Pause")
        else:
            self.player.pause()
            self.pause_button.setText("Resume")
