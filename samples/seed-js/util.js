// util is a module loaded with require, to show that a JS package may
// hold more than app.js.
exports.describe = function (options) {
  return 'seed-js v' + options.version + ': onLaunch (reason ' + options.reason + ')'
}
