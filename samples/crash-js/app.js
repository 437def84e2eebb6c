// crash-js is the JS test app of crash-loop rollback and of the sandbox's
// deadline: every 2.x version throws in onLaunch, every 3.x version loops
// forever there; others log "crash-js launch version=<v>".
App({
  onLaunch(options) {
    const v = options.version
    if (v.startsWith('2.')) {
      explode(v)
    }
    if (v.startsWith('3.')) {
      while (true) {}
    }
    console.log('crash-js launch version=' + v)
  }
})

function explode(v) {
  throw new Error('crash-js ' + v + ' throws on launch')
}
