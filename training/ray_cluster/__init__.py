"""Ray plumbing the search (:mod:`training.tune`) and batch scoring (``batch``) share.

:mod:`~training.ray_cluster.session` starts or joins Ray for one command,
:mod:`~training.ray_cluster.reach` refuses a cluster that cannot reach the
job's resources, :mod:`~training.ray_cluster.flags` are the Ray flags.
"""
