"""The export dialog: format, destination and coordinate space of the last take's export."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ui.recording import EXPORT_FORMATS

SPACES = {"Y up (OpenGL, Maya, Blender)": "gl", "OpenCV camera (y down)": "opencv"}
# The recording controller's formats plus the glTF rig (app.export.gltf), label -> suffix.
FORMATS: dict[str, str] = {**EXPORT_FORMATS, "glTF rig (.glb)": ".glb", "glTF rig, JSON (.gltf)": ".gltf"}


class ExportDialog(QDialog):
    """Asks where and how to export; :meth:`destination` and :meth:`space` give the answer."""

    def __init__(self, take_name: str, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export {take_name}")
        self._folder = folder
        self._take_name = take_name
        self.format_box = QComboBox(self)
        self.format_box.addItems(list(FORMATS))
        self.space_box = QComboBox(self)
        self.space_box.addItems(list(SPACES))
        self.path_edit = QLineEdit(self)
        self.path_edit.setMinimumWidth(380)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Format", self.format_box)
        form.addRow("Destination", row)
        form.addRow("Space", self.space_box)
        form.addRow(buttons)
        self.format_box.currentTextChanged.connect(self._suggest)
        self._suggest()

    @property
    def suffix(self) -> str:
        return FORMATS[self.format_box.currentText()]

    def destination(self) -> str:
        """The path to export to (a folder path ends with a separator for OBJ sequences)."""
        text = self.path_edit.text().strip()
        if self.suffix == "" and text and not text.endswith(("/", "\\")):
            text += "/"
        return text

    def space(self) -> str:
        return SPACES[self.space_box.currentText()]

    def _suggest(self) -> None:
        name = self._take_name + (self.suffix or "-obj")
        self.path_edit.setText(str(self._folder / name) + ("/" if not self.suffix else ""))

    def _browse(self) -> None:
        if self.suffix:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(),
                                                  f"{self.format_box.currentText()} (*{self.suffix})")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export the OBJ sequence into", str(self._folder))
        if path:
            self.path_edit.setText(path)
