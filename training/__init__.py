"""Standalone PyTorch training of the three-branch network (imports only ``models``)."""
