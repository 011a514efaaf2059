/** Process entry of the CLI (used by `bin/tandem.js` after build and by sidecars). */
import { main } from "./main.js";

main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
