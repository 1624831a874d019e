"""Control of machines: running commands on nodes and starting the nodes themselves.

    remote.py    what every remote shares (command text, coreutils ``timeout`` wrapping);
                 the Remote protocol itself is harness.api.Remote
    docker.py    DockerRemote: docker exec, the control path (never the data network)
    ssh.py       SSHRemote: paramiko, host keys verified by default
    fake.py      FakeRemote: records commands, answers from a script (unit tests)
    cluster.py   containers, their network and labels; one lock per cluster name
    image.py     the node image, built from Debian's packages (no registry)
    parallel.py  on_nodes: one function on every node at once, failures collected

May import: the model (harness.api, errors, ...). Never the runtime, report, app, a plugin
or a db: dbs and nemeses import this room, not the other way round.
"""
