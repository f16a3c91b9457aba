"""attnviz: an educational Transformer and a visualizer of every attention weight it computes."""

__version__ = "0.1.0"
