"""The spiking core: LIF neurons (charge, fire, reset) and their fused multi-step node, surrogate
gradients, the time axis of a network, input encodings, spikes kept as bytes, and a network's
backend (c or torch)."""
