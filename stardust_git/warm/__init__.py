"""A resident process that keeps validate's imports loaded, so the pre-commit hook starts fast.

``stardust-git validate --warm`` hands its arguments, working directory, environment and
standard streams to a server (started on the first such call, gone after a while idle) that
forks a child per call: the child runs the ordinary command on the files as they are now, so
only the imports are shared, never catalog data.
"""
