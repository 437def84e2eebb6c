// seed-js is the update-manager example of WeChat's documentation on the
// mini program update mechanism, as it is written there, at the top level
// of app.js (one quote, missing before "The new version", is added so
// that it parses). It runs on minihost's JS base library (samples/jsbase).
const updateManager = wx.getUpdateManager()

updateManager.onCheckForUpdate(function (res) {
  // Callback after requesting new version information
  console.log(res.hasUpdate )
})

updateManager.onUpdateReady(function () {
  wx.showModal({
    title: 'Update ',
    content: 'The new version is ready, do you want to restart the application? ',
    success(res) {
      if (res.confirm) {
        // The new version has been downloaded, call the ApplyUpdate  Apply the new version and restart
        updateManager.applyUpdate()
      }
    }
  })
})

updateManager.onUpdateFailed(function () {
  // New Version Download Failed
})

// Beyond the seed: the app's lifecycle, logged with the version running,
// a launch counter in storage, so a test sees which version runs and that
// storage survives the update, and timers, which run on the host's clock.
const util = require('./util')

App({
  onLaunch(options) {
    const launches = (wx.getStorageSync('launches') || 0) + 1
    wx.setStorageSync('launches', launches)
    console.log(util.describe(options) + ' launch #' + launches)
  },
  onShow() {
    const never = setTimeout(function () { console.log('seed-js: cleared timer fired') }, 500)
    setTimeout(function (what) {
      clearTimeout(never)
      console.log('seed-js: ' + what)
    }, 250, 'a timer fired')
    console.log('seed-js: onShow')
  },
  onHide() {
    console.log('seed-js: onHide')
  }
})
