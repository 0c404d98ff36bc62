"""Training data: the :class:`~training.data.sample.Sample` every source produces, the
synthetic source generated on the fly, and the real-data loaders.

Real sources (:mod:`training.data.sources` mixes them with the synthetic stream, from
``data.sources`` in the configuration): RGB image folders with or without landmark files
(:mod:`~training.data.rgb_folder`), RGB-D sequences from ``.r3d`` files or PNG depth folders
(:mod:`~training.data.rgbd_sequences`), and 3D scans rendered to RGB-D through
``models.sensor.SpeckleSimulator`` (:mod:`~training.data.scans`). Each yields ``Sample`` objects
of its kind (``rgb``, ``rgbd``, ``scan``), cropped with ``models.crop.prepare_inputs`` exactly
like the synthetic ones, carrying whatever supervision it has; ``collate`` mixes kinds in one
batch (set ``run.ddp_find_unused: true`` for DDP when batches mix kinds).
"""
