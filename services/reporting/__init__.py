"""The reporting service: the figures of contract §9 from its own read model of tickets."""
