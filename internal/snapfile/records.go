package snapfile

// Record is the type byte in front of each record of state.bin. Numbers
// are grouped by area (KV 1-9, autopilot 10-19, catalog 20-29, sessions
// 30-39) so areas never collide; a number, once used, keeps its meaning.
type Record uint8

const (
	RecordKV        Record = 1
	RecordTombstone Record = 2
	RecordIndex     Record = 3
	RecordAutopilot Record = 10
	RecordNode      Record = 20
	RecordService   Record = 21
	RecordCheck     Record = 22
	RecordSession   Record = 30
)

// Name is the record's name in `snapshot inspect`. Nodes, services and
// checks are all "Register", as Consul names them, so scripts that read
// Consul's table read ours.
func (r Record) Name() string {
	switch r {
	case RecordKV:
		return "KVS"
	case RecordTombstone:
		return "Tombstone"
	case RecordIndex:
		return "Index"
	case RecordAutopilot:
		return "Autopilot"
	case RecordNode, RecordService, RecordCheck:
		return "Register"
	case RecordSession:
		return "Session"
	default:
		return ""
	}
}

// Known tells whether name is a record type of this version.
func Known(name string) bool {
	for _, r := range []Record{RecordKV, RecordTombstone, RecordIndex, RecordAutopilot, RecordNode, RecordSession} {
		if r.Name() == name {
			return true
		}
	}
	return false
}
