// The foreground service that keeps a patrol's GPS running with the screen
// off. Its only job is to hold the process in the foreground with a visible
// notification; the fixes keep arriving at the listener that RedvestBridge
// registered, and wait in its buffer until Rust drains them.
//
// NOTE: written against the Android API 34 and AndroidX documentation; it
// has not been compiled or run yet (see docs/MOBILE.md).
package org.redvest.bridge

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Service
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import androidx.core.app.NotificationCompat
import androidx.core.app.ServiceCompat

class PatrolLocationService : Service() {
    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val type = if (Build.VERSION.SDK_INT >= 29) ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION else 0
        try {
            ServiceCompat.startForeground(this, NOTIFICATION_ID, notification(), type)
        } catch (error: Exception) {
            // Android 14 rejects a location service without a location
            // permission; stop instead of crashing the app.
            stopSelf()
            return START_NOT_STICKY
        }
        Fixes.start(this, FIX_INTERVAL_MS)
        // A patrol that the system killed is not resumed silently: the
        // member restarts it in the app, which keeps the record honest.
        return START_NOT_STICKY
    }

    private fun notification(): Notification {
        val manager = getSystemService(NotificationManager::class.java)
        if (Build.VERSION.SDK_INT >= 26 && manager.getNotificationChannel(CHANNEL_ID) == null) {
            val channel = NotificationChannel(
                CHANNEL_ID,
                getString(R.string.redvest_patrol_channel),
                NotificationManager.IMPORTANCE_LOW,
            )
            channel.description = getString(R.string.redvest_patrol_channel_description)
            manager.createNotificationChannel(channel)
        }
        val launch = packageManager.getLaunchIntentForPackage(packageName)
        val open = launch?.let {
            PendingIntent.getActivity(this, 0, it, PendingIntent.FLAG_IMMUTABLE)
        }
        return NotificationCompat.Builder(this, CHANNEL_ID)
            .setSmallIcon(android.R.drawable.ic_menu_mylocation)
            .setContentTitle(getString(R.string.redvest_patrol_title))
            .setContentText(getString(R.string.redvest_patrol_text))
            .setOngoing(true)
            .setContentIntent(open)
            .build()
    }

    companion object {
        private const val CHANNEL_ID = "redvest-patrol"
        private const val NOTIFICATION_ID = 7201
        private const val FIX_INTERVAL_MS = 1_000L
    }
}
