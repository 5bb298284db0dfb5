// A lane worker: fills its share of Argon2id's lanes for the vault's worker (see argon2-lanes.js).
import { serveLanes } from "./argon2-lanes.js";

self.onmessage = ({ data }) => serveLanes(data);
