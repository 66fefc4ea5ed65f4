// Idempotent reconciler of the bundled MongoDB replica set (development/CI).
// Run by the mongodb-init Deployment with `mongosh --nodb --file`.
//
// 1. first start: waits until every member answers, then runs replSetInitiate
//    with all of them (the first member is preferred as primary);
// 2. an initiated set: adds the members it lacks, one reconfig per member
//    (MongoDB changes at most one voting member per reconfig), so raising
//    mongodb.replicaCount grows the set. Members are matched by pod name, so
//    a set initiated with short host names is not given duplicates;
// 3. creates the application user, or resets its password and roles to what
//    the Secret says, so every run converges instead of failing. The user gets
//    readWrite on each database the processes use (MONGODB_DATABASES: the
//    write model's, and the read models' when they have their own), nothing
//    else.
const fs = require("fs");

const env = process.env;
const secret = (key) => fs.readFileSync(`${env.MONGODB_SECRET_DIR}/${key}`, "utf8").trim();

const hosts = env.MONGODB_HOSTS.split(",");
const replicaSet = env.MONGODB_REPLICA_SET;
const rootUser = env.MONGODB_ROOT_USER;
const rootPassword = secret("root-password");
const appUser = env.MONGODB_APP_USER;
const appPassword = secret("app-password");
// The app password goes into a URI and guards every document: an example
// placeholder or anything short is refused (the chart generates 32 characters).
if (!/^[A-Za-z0-9]{24,}$/.test(appPassword)) {
  throw new Error(
    "app-password must be at least 24 letters and digits (generate it: openssl rand -hex 24)",
  );
}
// The write model's database first, then the read models' if it is another one.
const databases = [...new Set(env.MONGODB_DATABASES.split(",").filter(Boolean))];
const NOT_YET_INITIALIZED = 94;
const ATTEMPTS = 150; // 2 s apart: five minutes for pods to start

function retry(what, action) {
  for (let attempt = 1; ; attempt++) {
    try {
      return action();
    } catch (e) {
      if (attempt >= ATTEMPTS) throw e;
      print(`waiting for ${what} (${attempt}): ${e.message}`);
      sleep(2000);
    }
  }
}

// The pod a host name belongs to: "microblog-mongodb-1" of "microblog-mongodb-1.svc...:27017".
const podOf = (host) => host.split(":")[0].split(".")[0];

// A member answers `hello` without authentication once mongod is up.
function waitForMember(host) {
  retry(host, () => {
    new Mongo(`mongodb://${host}/?directConnection=true&serverSelectionTimeoutMS=5000`)
      .getDB("admin")
      .runCommand({ hello: 1 });
  });
}

// Authenticated as root, retrying while the pods start.
function adminDb(uri) {
  return retry("MongoDB", () => {
    const admin = new Mongo(uri).getDB("admin");
    admin.auth(rootUser, rootPassword);
    admin.runCommand({ ping: 1 });
    return admin;
  });
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
  print(`replica set ${status.set} is already initiated`);
} else if (status.code === NOT_YET_INITIALIZED) {
  hosts.forEach(waitForMember);
  const config = {
    _id: replicaSet,
    members: hosts.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })),
  };
  const result = seed.runCommand({ replSetInitiate: config });
  if (result.ok !== 1) throw new Error(`replSetInitiate failed: ${JSON.stringify(result)}`);
  print(`initiated replica set ${replicaSet} with ${hosts.join(", ")}`);
} else {
  throw new Error(`unexpected replSetGetStatus answer: ${JSON.stringify(status)}`);
}

// Reconfiguration and users are written on the primary: connect to the set
// and let the driver find it (an election takes a few seconds after initiation).
const admin = adminDb(
  `mongodb://${hosts.join(",")}/?replicaSet=${replicaSet}&serverSelectionTimeoutMS=60000`,
);

for (const host of hosts) {
  const config = admin.runCommand({ replSetGetConfig: 1 }).config;
  if (config.members.some((member) => podOf(member.host) === podOf(host))) continue;
  waitForMember(host);
  const _id = Math.max(...config.members.map((member) => member._id)) + 1;
  config.members.push({ _id, host, priority: 1 });
  config.version += 1;
  const result = admin.runCommand({ replSetReconfig: config });
  if (result.ok !== 1) throw new Error(`adding ${host} failed: ${JSON.stringify(result)}`);
  print(`added ${host} to replica set ${replicaSet}`);
}
const wanted = new Set(hosts.map(podOf));
for (const member of admin.runCommand({ replSetGetConfig: 1 }).config.members) {
  if (!wanted.has(podOf(member.host))) {
    print(`note: ${member.host} is a member but not in MONGODB_HOSTS; remove it with rs.remove() if intended`);
  }
}

if (databases.length === 0) throw new Error("MONGODB_DATABASES names no database");
const roles = databases.map((db) => ({ role: "readWrite", db }));
if (admin.getUser(appUser)) {
  admin.updateUser(appUser, { pwd: appPassword, roles });
  print(`updated user ${appUser} (readWrite on ${databases.join(", ")})`);
} else {
  admin.createUser({ user: appUser, pwd: appPassword, roles });
  print(`created user ${appUser} (readWrite on ${databases.join(", ")})`);
}
