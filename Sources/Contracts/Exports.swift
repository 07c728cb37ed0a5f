// What the student's code sees with `import Contracts`: the lesson contracts and the lab's
// support (system errors, descriptors, the shared block, lock and connection, todo()).
@_exported import LabSupport
