// The engine uses the support types throughout; its users see them with `import LabKit`.
@_exported import LabSupport
