<?php
/**
 * Deleting the plugin forgets the connection: the app address, the shop and its secret, and any
 * pending connect state.  (Comeback keeps the shop's data until it is uninstalled in the app.)
 *
 * @package Comeback
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'comeback_app_url' );
delete_option( 'comeback_connection' );
delete_option( 'comeback_secret' );

global $wpdb;
// Transients of unfinished connects (one per merchant) and claim errors.
$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '\\_transient\\_comeback\\_%' OR option_name LIKE '\\_transient\\_timeout\\_comeback\\_%'" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
