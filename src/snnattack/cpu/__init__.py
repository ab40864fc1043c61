"""The CPU paths of a network of the backend ``c`` (:mod:`snnattack.snn.backend`): C kernels
built on first use (:mod:`.native`), one-pass pooling, frozen layers and recomputed BN outputs
that keep less for the backward. One guard (:mod:`.guard`) decides
where they run; each gives the same values as the torch ops it replaces."""
