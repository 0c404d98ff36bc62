"""The three-branch network: split torchvision backbones, heads, output layout, benchmark."""
