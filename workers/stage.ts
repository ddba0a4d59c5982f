/**
 * A stage worker: checks its slice of each batch and scores every valid event on its shard of
 * the forest (score, then learn), with the masses of the batch's model. Protocol: src/stage.ts.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  buildTrees,
  createModel,
  exportMasses,
  type Forest,
  importMasses,
  scoreLearnBatch,
  type Trees,
} from "../src/hst/mod.ts";
import { type Checker, compileChecker } from "../src/contract/compile.ts";
import { checkSlice, type StageReply, type StageRequest } from "../src/stage.ts";

let trees: Trees | undefined;
const models = new Map<number, Forest>();
let checker: Checker | undefined;

function model(key: number): Forest {
  const found = models.get(key);
  if (!found) throw new Error(`no model ${key} is open in this worker`);
  return found;
}

function reply(message: StageReply, transfer: Transferable[] = []) {
  self.postMessage(message, transfer);
}

self.onmessage = (e: MessageEvent<StageRequest>) => {
  const msg = e.data;
  try {
    switch (msg.type) {
      case "init":
        trees = buildTrees(msg.forest, msg.shard);
        checker = compileChecker(msg.contract, { maxEventBytes: msg.maxEventBytes });
        reply({ type: "ready" });
        return;
      case "open":
        models.set(msg.model, msg.masses ? importMasses(trees!, msg.masses) : createModel(trees!));
        reply({ type: "done", id: msg.id });
        return;
      case "drop":
        models.delete(msg.model);
        reply({ type: "done", id: msg.id });
        return;
      case "check": {
        const result = checkSlice(msg.bytes, msg.offsets, checker!);
        reply({ type: "checked", id: msg.id, result }, [
          result.status.buffer,
          result.ts.buffer,
          result.features.buffer,
        ]);
        return;
      }
      case "export": {
        const state = exportMasses(model(msg.model));
        reply({ type: "exported", id: msg.id, state }, [state.entries.buffer, state.events.buffer]);
        return;
      }
      case "score": {
        const masses = new Float64Array(msg.n);
        scoreLearnBatch(model(msg.model), msg.features, msg.n, masses);
        reply({ type: "scored", id: msg.id, masses }, [masses.buffer]);
        return;
      }
    }
  } catch (err) {
    reply({
      type: "error",
      id: "id" in msg ? msg.id : -1,
      message: String((err as Error)?.stack ?? err),
    });
  }
};
