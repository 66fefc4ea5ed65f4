// Idempotent bootstrap of the bundled MongoDB replica set (development/CI).
// Run by the mongodb-init Job with `mongosh --nodb --file`.
//
// 1. waits until the first member accepts the root user (the official image's
//    entrypoint creates it from MONGO_INITDB_ROOT_* on the very first start);
// 2. runs replSetInitiate only when the set is not initiated yet;
// 3. creates the application user, or resets its password and roles to what
//    the Secret says, so re-running the Job converges instead of failing.
const fs = require("fs");

const env = process.env;
const secret = (key) => fs.readFileSync(`${env.MONGODB_SECRET_DIR}/${key}`, "utf8").trim();

const hosts = env.MONGODB_HOSTS.split(",");
const replicaSet = env.MONGODB_REPLICA_SET;
const rootUser = env.MONGODB_ROOT_USER;
const rootPassword = secret("root-password");
const appUser = env.MONGODB_APP_USER;
const appPassword = secret("app-password");
const database = env.MONGODB_DATABASE;
const NOT_YET_INITIALIZED = 94;

// Connect and authenticate as root, retrying while the pods start.
function adminDb(uri) {
  for (let attempt = 1; ; attempt++) {
    try {
      const admin = new Mongo(uri).getDB("admin");
      admin.auth(rootUser, rootPassword);
      admin.runCommand({ ping: 1 });
      return admin;
    } catch (e) {
      if (attempt >= 150) throw e;
      print(`waiting for MongoDB (${attempt}): ${e.message}`);
      sleep(2000);
    }
  }
}

function replicaSetStatus(admin) {
  try {
    return admin.runCommand({ replSetGetStatus: 1 });
  } catch (e) {
    return { ok: 0, code: e.code, errmsg: e.message };
  }
}

const seed = adminDb(`mongodb://${hosts[0]}/?directConnection=true&serverSelectionTimeoutMS=5000`);
const status = replicaSetStatus(seed);
if (status.ok === 1) {
  print(`replica set ${status.set} is already initiated; leaving its configuration alone`);
} else if (status.code === NOT_YET_INITIALIZED) {
  const config = {
    _id: replicaSet,
    // The first member is preferred as primary so a fresh set elects quickly.
    members: hosts.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })),
  };
  const result = seed.runCommand({ replSetInitiate: config });
  if (result.ok !== 1) throw new Error(`replSetInitiate failed: ${JSON.stringify(result)}`);
  print(`initiated replica set ${replicaSet} with ${hosts.join(", ")}`);
} else {
  throw new Error(`unexpected replSetGetStatus answer: ${JSON.stringify(status)}`);
}

// Users are written on the primary: connect to the set and let the driver
// find it (an election takes a few seconds after initiation).
const admin = adminDb(
  `mongodb://${hosts.join(",")}/?replicaSet=${replicaSet}&serverSelectionTimeoutMS=60000`,
);
const roles = [{ role: "readWrite", db: database }];
if (admin.getUser(appUser)) {
  admin.updateUser(appUser, { pwd: appPassword, roles });
  print(`updated user ${appUser} (readWrite on ${database})`);
} else {
  admin.createUser({ user: appUser, pwd: appPassword, roles });
  print(`created user ${appUser} (readWrite on ${database})`);
}
