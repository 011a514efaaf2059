import { describe, expect, it } from "vitest";
import { StopMatcher } from "./stop.js";

describe("StopMatcher", () => {
  it("withholds a stop sequence split across pushes and stops there", () => {
    const m = new StopMatcher(["\nQuestion:"]);
    expect(m.push("The answer is 4.")).toEqual({ emit: "The answer is 4.", stopped: false });
    expect(m.push("\nQues")).toEqual({ emit: "", stopped: false });
    expect(m.push("tion: next")).toEqual({ emit: "", stopped: true });
    expect(m.flush()).toBe("");
  });

  it("releases a held-back prefix that turns out not to be a stop", () => {
    const m = new StopMatcher(["END"]);
    expect(m.push("the EN")).toEqual({ emit: "the ", stopped: false });
    expect(m.push("D")).toEqual({ emit: "", stopped: true });
    const n = new StopMatcher(["END"]);
    n.push("the EN");
    expect(n.push("ough")).toEqual({ emit: "ENough", stopped: false });
    expect(n.push("E")).toEqual({ emit: "", stopped: false });
    expect(n.flush()).toBe("E");
  });

  it("cuts at the earliest of several stops", () => {
    const m = new StopMatcher(["b", "a"]);
    expect(m.push("xxabyy")).toEqual({ emit: "xx", stopped: true });
  });
});
