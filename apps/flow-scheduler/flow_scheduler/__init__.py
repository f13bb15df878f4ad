"""The flow scheduler service: bulk min-cost-flow placement of the pods that name it.

``convert`` turns the Kubernetes client's objects into the placement snapshot, ``scheduler``
runs one cycle (read, place, bind), ``lease`` elects one binding replica, ``__main__`` loops.
"""
