"""The process: the command line (:mod:`.cli`), the console's output, and a sweep's lifecycle
(summary, failures, preemption)."""
