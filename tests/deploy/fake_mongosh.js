// Runs helm/microblog/files/mongodb-init.js against a fake replica set, as mongosh would.
//   node fake_mongosh.js SCRIPT STATE.json    prints the final state as JSON
// The state: {initiated, config: {members, version}, users: {name: {roles}}, log: [...]}.
const fs = require("fs");
const vm = require("vm");

const [scriptPath, statePath] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(statePath, "utf8"));
state.log = [];
const copy = (value) => JSON.parse(JSON.stringify(value));

function serverError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

function runCommand(command) {
  const name = Object.keys(command)[0];
  state.log.push(name);
  switch (name) {
    case "hello":
    case "ping":
      return { ok: 1 };
    case "replSetGetStatus":
      if (!state.initiated) throw serverError(94, "no replset config has been received");
      return { ok: 1, set: state.config._id };
    case "replSetInitiate":
      if (state.initiated) throw serverError(23, "already initialized");
      state.initiated = true;
      state.config = { ...copy(command.replSetInitiate), version: 1 };
      return { ok: 1 };
    case "replSetGetConfig":
      return { ok: 1, config: copy(state.config) };
    case "replSetReconfig": {
      const next = command.replSetReconfig;
      if (next.version !== state.config.version + 1) throw serverError(103, "version must grow by one");
      const before = new Set(state.config.members.map((m) => m.host));
      const added = next.members.filter((m) => !before.has(m.host));
      if (added.length > 1) throw serverError(103, "only one voting member may be added per reconfig");
      state.config = copy(next);
      return { ok: 1 };
    }
    default:
      throw new Error(`fake mongod: unexpected command ${name}`);
  }
}

class Mongo {
  constructor(uri) {
    this.uri = uri;
  }
  getDB() {
    return {
      auth: () => true,
      runCommand,
      getUser: (user) => state.users[user] || null,
      createUser: ({ user, roles }) => {
        state.log.push(`createUser ${user}`);
        state.users[user] = { roles };
      },
      updateUser: (user, { roles }) => {
        state.log.push(`updateUser ${user}`);
        state.users[user] = { roles };
      },
    };
  }
}

const context = {
  Mongo,
  print: () => {},
  sleep: () => {},
  require,
  process,
};
vm.runInNewContext(fs.readFileSync(scriptPath, "utf8"), context, { filename: scriptPath });
console.log(JSON.stringify(state));
