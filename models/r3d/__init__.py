"""Record3D ``.r3d`` files (format: docs/FORMATS.md), as pure file-format code shared by the
app's frame source and recorder (:mod:`capture.r3d`, :mod:`capture.r3d_writer`) and by
training's RGB-D sequence loader.

One job per module:

* :mod:`~models.r3d.zip_format`: the ZIP records (struct layouts, flags, extra fields);
* :mod:`~models.r3d.zip_reader`: :class:`ZipArchive`, random access, recovery of files
  without a central directory;
* :mod:`~models.r3d.zip_writer`: :class:`ZipAppender`, crash-safe appending;
* :mod:`~models.r3d.lzfse`: LZFSE depth and confidence blobs;
* :mod:`~models.r3d.metadata`: the ``metadata`` JSON (validation in, JSON out);
* :mod:`~models.r3d.reader`: :class:`R3DReader`, frames by index;
* :mod:`~models.r3d.errors`: :class:`R3DError`, one line per problem.
"""

from models.r3d.errors import R3DError
from models.r3d.metadata import R3DMetadata, parse_metadata
from models.r3d.reader import R3DReader
from models.r3d.zip_reader import ZipArchive
from models.r3d.zip_writer import ZipAppender

__all__ = ["R3DError", "R3DMetadata", "R3DReader", "ZipAppender", "ZipArchive", "parse_metadata"]
