package snapfile

// Record is the type byte in front of each record of state.bin. Numbers
// are grouped by area (KV 1-9, autopilot 10-19, catalog 20-29, sessions
// 30-39, ACLs 40-49, coordinates and prepared queries 70-79) so areas
// never collide; a number, once used, keeps its meaning. Every record the
// FSM writes is listed here, so that a restore refuses only what this
// version cannot read.
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

	RecordACLToken      Record = 40
	RecordACLPolicy     Record = 41
	RecordACLRole       Record = 42
	RecordCoordinate    Record = 70
	RecordPreparedQuery Record = 71
)

// records is every record type of this version.
var records = []Record{RecordKV, RecordTombstone, RecordIndex, RecordAutopilot,
	RecordNode, RecordService, RecordCheck, RecordSession,
	RecordACLToken, RecordACLPolicy, RecordACLRole, RecordCoordinate, RecordPreparedQuery}

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
	case RecordACLToken:
		return "ACLToken"
	case RecordACLPolicy:
		return "ACLPolicy"
	case RecordACLRole:
		return "ACLRole"
	case RecordCoordinate:
		return "CoordinateBatchUpdate"
	case RecordPreparedQuery:
		return "PreparedQuery"
	default:
		return ""
	}
}

// Known tells whether name is a record type of this version.
func Known(name string) bool {
	for _, r := range records {
		if r.Name() == name {
			return true
		}
	}
	return false
}
