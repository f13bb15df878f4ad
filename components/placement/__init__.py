"""Flow-network placement: a pure min-cost-flow solver for the scheduler system.

Reserved: nothing is built yet.
"""
