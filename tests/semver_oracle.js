// node-semver as a reference for controlplane/domain/semver.py (see tests/unit/test_semver_node.py).
// Reads one JSON request per line on stdin and writes one JSON answer per line on stdout, so one process
// answers a whole test run. Default options throughout (strict, includePrerelease off), as the policies use.
//   {"ranges": ["^1.2", "1.x.3"], "versions": ["1.5.0", ...]}
//     -> {"valid": [">=1.2.0 <2.0.0-0", null], "satisfies": [[true, ...], [false, ...]]}
//     (valid is semver.validRange: how node-semver reads the range, or null if it refuses it)
//   {"versions": ["v1.2.3", "=1.2.3", ...]} -> {"valid": ["1.2.3", null, ...]}
'use strict'

const readline = require('node:readline')
const semver = require('semver')

// semver.satisfies(version, range) is new Range(range).test(version), false if the range is refused; building
// each range and version once keeps large batches fast.
const rangeOrNull = (text) => {
  try {
    return new semver.Range(text)
  } catch {
    return null
  }
}

const answer = (request) => {
  if (request.ranges === undefined) {
    return { valid: request.versions.map((v) => semver.valid(v)) }
  }
  const versions = request.versions.map((v) => semver.parse(v))
  return {
    valid: request.ranges.map((r) => semver.validRange(r)),
    satisfies: request.ranges.map((r) => {
      const range = rangeOrNull(r)
      return versions.map((v) => range !== null && v !== null && range.test(v))
    }),
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  process.stdout.write(JSON.stringify(answer(JSON.parse(line))) + '\n')
})
