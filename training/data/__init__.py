"""Training data: the :class:`~training.data.sample.Sample` every source produces, and the
synthetic source generated on the fly.

A real-data loader (RGB image folders with landmarks, RGB-D sequences, 3D scans rendered
through ``models.sensor.SpeckleSimulator``) is an iterable of ``Sample`` objects of its kind
(``rgb``, ``rgbd``, ``scan``), cropped with ``models.crop.prepare_inputs`` exactly like the
synthetic one, carrying whatever supervision it has; ``collate`` mixes kinds in one batch
(set ``run.ddp_find_unused: true`` for DDP when batches mix kinds).
"""
